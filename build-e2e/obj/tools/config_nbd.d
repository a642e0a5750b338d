build-e2e/obj/tools/config_nbd.o: tools/config_nbd.c tools/config_nbd.h \
 tools/config.h mpath/lu.h common/clock.h mpath/path.h mpath/scsi_cmd.h \
 common/util.h tools/config_values.h transport/nbd/nbd_addr.h
tools/config_nbd.h:
tools/config.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
common/util.h:
tools/config_values.h:
transport/nbd/nbd_addr.h:
