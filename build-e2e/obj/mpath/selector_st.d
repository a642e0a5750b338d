build-e2e/obj/mpath/selector_st.o: mpath/selector_st.c common/util.h \
 mpath/selector.h mpath/path.h mpath/scsi_cmd.h mpath/selector_impl.h
common/util.h:
mpath/selector.h:
mpath/path.h:
mpath/scsi_cmd.h:
mpath/selector_impl.h:
