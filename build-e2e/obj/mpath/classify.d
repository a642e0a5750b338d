build-e2e/obj/mpath/classify.o: mpath/classify.c mpath/classify.h \
 mpath/scsi_cmd.h
mpath/classify.h:
mpath/scsi_cmd.h:
