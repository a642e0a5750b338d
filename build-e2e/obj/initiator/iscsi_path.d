build-e2e/obj/initiator/iscsi_path.o: initiator/iscsi_path.c \
 initiator/iscsi_path.h initiator/session.h initiator/chap.h \
 mpath/scsi_cmd.h mpath/lu.h common/clock.h mpath/path.h common/log.h \
 common/util.h initiator/attach.h
initiator/iscsi_path.h:
initiator/session.h:
initiator/chap.h:
mpath/scsi_cmd.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
common/log.h:
common/util.h:
initiator/attach.h:
