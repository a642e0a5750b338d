build-e2e/obj/mpath/selector_ql.o: mpath/selector_ql.c mpath/selector.h \
 mpath/path.h mpath/scsi_cmd.h mpath/selector_impl.h
mpath/selector.h:
mpath/path.h:
mpath/scsi_cmd.h:
mpath/selector_impl.h:
