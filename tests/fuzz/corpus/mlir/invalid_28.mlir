func.func @slice_zero_step(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = nn.slice %x[[0] : [4] : [0]] : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
