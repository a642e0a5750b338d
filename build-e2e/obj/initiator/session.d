build-e2e/obj/initiator/session.o: initiator/session.c \
 initiator/session.h initiator/chap.h mpath/scsi_cmd.h common/log.h \
 common/util.h initiator/isid.h initiator/pdu_guard.h \
 initiator/sock_guard.h initiator/iscsi_path.h mpath/lu.h common/clock.h \
 mpath/path.h initiator/report_luns.h initiator/scsi_parse.h \
 mpath/classify.h mpath/scsi_cdb.h
initiator/session.h:
initiator/chap.h:
mpath/scsi_cmd.h:
common/log.h:
common/util.h:
initiator/isid.h:
initiator/pdu_guard.h:
initiator/sock_guard.h:
initiator/iscsi_path.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
initiator/report_luns.h:
initiator/scsi_parse.h:
mpath/classify.h:
mpath/scsi_cdb.h:
