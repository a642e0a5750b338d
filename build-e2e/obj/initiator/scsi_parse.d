build-e2e/obj/initiator/scsi_parse.o: initiator/scsi_parse.c \
 common/util.h initiator/scsi_parse.h
common/util.h:
initiator/scsi_parse.h:
