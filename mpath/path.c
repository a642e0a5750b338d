/* Names of path states, for logs and tools. */
#include "mpath/path.h"

const char *mp_path_state_name(enum mp_path_state s)
{
	switch (s) {
	case MP_PATH_DOWN: return "down";
	case MP_PATH_ATTACHING: return "attaching";
	case MP_PATH_UP: return "up";
	case MP_PATH_FAILED: return "failed";
	}
	return "?";
}
