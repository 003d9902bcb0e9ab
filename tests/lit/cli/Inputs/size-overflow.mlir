// 2^32 * 2^32 * 4 elements: more than int64 counts.
func.func @main(%x: tensor<4xf32> {nn.name = "x"}) -> (tensor<4294967296x4294967296x4xf32> {nn.name = "y"}) {
  %b = nn.broadcast_to %x : tensor<4xf32> -> tensor<4294967296x4294967296x4xf32>
  %y = nn.exp %b : tensor<4294967296x4294967296x4xf32>
  return %y : tensor<4294967296x4294967296x4xf32>
}
