build-e2e/obj/tools/mpiscsiadm.o: tools/mpiscsiadm.c common/version.h \
 common/util.h tools/adm.h tools/ctl_proto.h
common/version.h:
common/util.h:
tools/adm.h:
tools/ctl_proto.h:
