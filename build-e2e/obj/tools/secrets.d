build-e2e/obj/tools/secrets.o: tools/secrets.c tools/secrets.h \
 common/util.h
tools/secrets.h:
common/util.h:
