build-e2e/obj/initiator/attach.o: initiator/attach.c common/util.h \
 initiator/attach.h mpath/lu.h common/clock.h mpath/path.h \
 mpath/scsi_cmd.h mpath/scsi_cdb.h initiator/scsi_parse.h \
 mpath/classify.h
common/util.h:
initiator/attach.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
mpath/scsi_cdb.h:
initiator/scsi_parse.h:
mpath/classify.h:
