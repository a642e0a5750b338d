build-e2e/obj/mpath/alua.o: mpath/alua.c common/log.h common/util.h \
 mpath/classify.h mpath/scsi_cmd.h mpath/lu_int.h mpath/lu.h \
 common/clock.h mpath/path.h mpath/rtpg.h mpath/scsi_cdb.h \
 mpath/selector.h
common/log.h:
common/util.h:
mpath/classify.h:
mpath/scsi_cmd.h:
mpath/lu_int.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/rtpg.h:
mpath/scsi_cdb.h:
mpath/selector.h:
