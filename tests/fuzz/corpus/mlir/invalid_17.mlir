func.func @constant_type() -> tensor<3xf32> {
  %0 = nn.constant 1.0 : f32
  return %0 : tensor<3xf32>
}
