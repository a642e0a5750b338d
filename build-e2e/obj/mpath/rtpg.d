build-e2e/obj/mpath/rtpg.o: mpath/rtpg.c common/util.h mpath/rtpg.h
common/util.h:
mpath/rtpg.h:
