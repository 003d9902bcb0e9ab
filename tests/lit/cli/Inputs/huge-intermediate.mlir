// A 400 GB temporary (the broadcast) in the workspace.
func.func @main(%x: tensor<4xf32> {nn.name = "x"}) -> (tensor<4xf32> {nn.name = "y"}) {
  %b = nn.broadcast_to %x : tensor<4xf32> -> tensor<25000000000x4xf32>
  %e = nn.exp %b : tensor<25000000000x4xf32>
  %y = nn.reduce_sum %e axes [0] : tensor<25000000000x4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}
