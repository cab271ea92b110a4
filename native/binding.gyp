{
  "targets": [
    {
      "target_name": "sb_srtp",
      "sources": ["srtp.c"],
      "cflags": ["-O2", "-Wall", "-Wno-deprecated-declarations"]
    }
  ]
}
