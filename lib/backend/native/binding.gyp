{
  "targets": [
    {
      "target_name": "blas_bridge",
      "sources": ["blas-bridge.c"],
      "cflags": ["-O3", "-Wall"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
