build-e2e/obj/tools/nbd_setup.o: tools/nbd_setup.c tools/nbd_setup.h \
 tools/config.h mpath/lu.h common/clock.h mpath/path.h mpath/scsi_cmd.h \
 transport/nbd/nbd_server.h transport/nbd/nbd_tls.h
tools/nbd_setup.h:
tools/config.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
transport/nbd/nbd_server.h:
transport/nbd/nbd_tls.h:
