build-e2e/obj/tools/config_luns.o: tools/config_luns.c tools/config.h \
 mpath/lu.h common/clock.h mpath/path.h mpath/scsi_cmd.h \
 tools/config_values.h common/util.h
tools/config.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
tools/config_values.h:
common/util.h:
