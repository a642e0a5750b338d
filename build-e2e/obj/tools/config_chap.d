build-e2e/obj/tools/config_chap.o: tools/config_chap.c \
 tools/config_chap.h tools/config.h mpath/lu.h common/clock.h \
 mpath/path.h mpath/scsi_cmd.h common/util.h tools/config_values.h \
 tools/secrets.h
tools/config_chap.h:
tools/config.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
common/util.h:
tools/config_values.h:
tools/secrets.h:
