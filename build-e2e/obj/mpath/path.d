build-e2e/obj/mpath/path.o: mpath/path.c mpath/path.h mpath/scsi_cmd.h
mpath/path.h:
mpath/scsi_cmd.h:
