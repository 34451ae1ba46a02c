{
  "targets": [
    {
      "target_name": "container_syslog",
      "sources": [
        "native/addon.cc",
        "native/attribution.cc",
        "native/batch-filler.cc",
        "native/cgroup.cc",
        "native/errors.cc",
        "native/kernel.cc",
        "native/log-files.cc",
        "native/notify.cc",
        "native/probe.cc",
        "native/process-extras.cc",
        "native/receive-thread.cc",
        "native/receiver.cc",
        "native/sender-cache.cc",
        "native/socket.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2", "-fexceptions", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["OS!='linux'", {
          "sources!": [
            "native/addon.cc",
            "native/attribution.cc",
            "native/batch-filler.cc",
            "native/cgroup.cc",
            "native/kernel.cc",
            "native/log-files.cc",
            "native/notify.cc",
            "native/probe.cc",
            "native/process-extras.cc",
            "native/receive-thread.cc",
            "native/receiver.cc",
            "native/sender-cache.cc",
            "native/socket.cc"
          ],
          "sources": ["native/unsupported.cc"]
        }]
      ]
    },
    {
      "target_name": "cs-send",
      "type": "executable",
      "sources": ["native/tools/cs-send.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/tools/cs-send.c"]}]]
    }
  ]
}
