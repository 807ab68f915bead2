{
  "targets": [
    {
      "target_name": "hessian_native",
      "sources": ["addon/native.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "<!(node -p \"process.env.HESSIAN_NATIVE_MARCH ? '-march=' + process.env.HESSIAN_NATIVE_MARCH : '-march=native'\")", "-fno-math-errno", "-fopenmp-simd"],
      "libraries": ["-lopenblas"]
    }
  ]
}
