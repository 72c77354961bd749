/* Lets the TypeScript side check that it loaded the library it was built with. */
#include "containr.h"

CONTAINR_EXPORT int containr_abi_version(void) { return CONTAINR_ABI_VERSION; }
