func.func @dynamic_shape(%x: tensor<?xf32>) -> tensor<?xf32> {
  %0 = nn.relu %x : tensor<?xf32>
  return %0 : tensor<?xf32>
}
