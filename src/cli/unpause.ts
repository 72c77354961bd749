import { unpauseContainer } from "../engine/operations.ts";
import { defineContainerAction } from "./container/common.ts";

export default defineContainerAction({ name: "unpause", description: "Unpause all processes within one or more containers" }, unpauseContainer);
