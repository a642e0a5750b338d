build-e2e/obj/tools/ctl_server.o: tools/ctl_server.c tools/ctl_server.h \
 common/log.h common/util.h common/unix_listen.h initiator/session.h \
 initiator/chap.h mpath/scsi_cmd.h mpath/lu.h common/clock.h mpath/path.h \
 mpath/rtpg.h tools/ctl_proto.h common/version.h
tools/ctl_server.h:
common/log.h:
common/util.h:
common/unix_listen.h:
initiator/session.h:
initiator/chap.h:
mpath/scsi_cmd.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/rtpg.h:
tools/ctl_proto.h:
common/version.h:
