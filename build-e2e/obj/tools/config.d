build-e2e/obj/tools/config.o: tools/config.c tools/config.h mpath/lu.h \
 common/clock.h mpath/path.h mpath/scsi_cmd.h common/log.h common/util.h \
 tools/config_chap.h tools/config_nbd.h tools/config_values.h \
 tools/secrets.h
tools/config.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
common/log.h:
common/util.h:
tools/config_chap.h:
tools/config_nbd.h:
tools/config_values.h:
tools/secrets.h:
