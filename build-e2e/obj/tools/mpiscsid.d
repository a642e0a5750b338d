build-e2e/obj/tools/mpiscsid.o: tools/mpiscsid.c common/version.h \
 common/evclock.h common/clock.h common/log.h common/util.h \
 initiator/discovery.h initiator/chap.h initiator/isid.h \
 initiator/iscsi_path.h initiator/session.h mpath/scsi_cmd.h mpath/lu.h \
 mpath/path.h initiator/linkmon.h mpath/selector.h tools/config.h \
 tools/nbd_setup.h transport/nbd/nbd_server.h transport/nbd/nbd_tls.h \
 tools/ctl_server.h tools/daemon.h tools/secrets.h
common/version.h:
common/evclock.h:
common/clock.h:
common/log.h:
common/util.h:
initiator/discovery.h:
initiator/chap.h:
initiator/isid.h:
initiator/iscsi_path.h:
initiator/session.h:
mpath/scsi_cmd.h:
mpath/lu.h:
mpath/path.h:
initiator/linkmon.h:
mpath/selector.h:
tools/config.h:
tools/nbd_setup.h:
transport/nbd/nbd_server.h:
transport/nbd/nbd_tls.h:
tools/ctl_server.h:
tools/daemon.h:
tools/secrets.h:
