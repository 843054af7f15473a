{
  "targets": [
    {
      "target_name": "blas_bridge",
      "sources": ["blas-bridge.c"],
      "cflags": ["-O2", "-Wall"],
      "libraries": ["-ldl"]
    }
  ]
}
