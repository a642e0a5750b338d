build-e2e/obj/tools/ctl_proto.o: tools/ctl_proto.c tools/ctl_proto.h \
 common/version.h common/util.h
tools/ctl_proto.h:
common/version.h:
common/util.h:
