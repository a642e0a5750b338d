/* The software version, shared by the daemon, the CLI and the control protocol. */
#ifndef MP_COMMON_VERSION_H
#define MP_COMMON_VERSION_H

#define MPISCSI_VERSION "0.2.0"

#endif
