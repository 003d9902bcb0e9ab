func.func @slice_arity(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %0 = nn.slice %x[[0] : [4] : [1]] : tensor<4x2xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}
