build-e2e/obj/mpath/lu_paths.o: mpath/lu_paths.c common/log.h \
 common/util.h mpath/lu_int.h mpath/lu.h common/clock.h mpath/path.h \
 mpath/scsi_cmd.h mpath/rtpg.h mpath/scsi_cdb.h mpath/selector.h
common/log.h:
common/util.h:
mpath/lu_int.h:
mpath/lu.h:
common/clock.h:
mpath/path.h:
mpath/scsi_cmd.h:
mpath/rtpg.h:
mpath/scsi_cdb.h:
mpath/selector.h:
