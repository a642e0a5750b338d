build-e2e/obj/mpath/scsi_cdb.o: mpath/scsi_cdb.c common/util.h \
 mpath/scsi_cdb.h
common/util.h:
mpath/scsi_cdb.h:
