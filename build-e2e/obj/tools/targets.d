build-e2e/obj/tools/targets.o: tools/targets.c common/log.h common/util.h \
 initiator/discovery.h initiator/chap.h initiator/isid.h \
 initiator/linkmon.h mpath/selector.h mpath/path.h mpath/scsi_cmd.h \
 tools/daemon.h common/clock.h initiator/iscsi_path.h initiator/session.h \
 mpath/lu.h tools/config.h
common/log.h:
common/util.h:
initiator/discovery.h:
initiator/chap.h:
initiator/isid.h:
initiator/linkmon.h:
mpath/selector.h:
mpath/path.h:
mpath/scsi_cmd.h:
tools/daemon.h:
common/clock.h:
initiator/iscsi_path.h:
initiator/session.h:
mpath/lu.h:
tools/config.h:
