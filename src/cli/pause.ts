import { pauseContainer } from "../engine/operations.ts";
import { defineContainerAction } from "./container/common.ts";

export default defineContainerAction({ name: "pause", description: "Pause all processes within one or more containers" }, pauseContainer);
