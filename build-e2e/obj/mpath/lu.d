build-e2e/obj/mpath/lu.o: mpath/lu.c mpath/lu.h common/clock.h \
 mpath/path.h mpath/scsi_cmd.h common/log.h common/util.h \
 mpath/classify.h mpath/lu_int.h mpath/rtpg.h mpath/scsi_cdb.h \
 mpath/selector.h
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
common/log.h:
common/util.h:
mpath/classify.h:
mpath/lu_int.h:
mpath/rtpg.h:
mpath/scsi_cdb.h:
mpath/selector.h:
