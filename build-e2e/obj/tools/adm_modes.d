build-e2e/obj/tools/adm_modes.o: tools/adm_modes.c common/log.h \
 common/util.h initiator/discovery.h initiator/chap.h tools/adm.h \
 tools/config.h mpath/lu.h common/clock.h mpath/path.h mpath/scsi_cmd.h \
 tools/ctl_proto.h common/version.h
common/log.h:
common/util.h:
initiator/discovery.h:
initiator/chap.h:
tools/adm.h:
tools/config.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
tools/ctl_proto.h:
common/version.h:
