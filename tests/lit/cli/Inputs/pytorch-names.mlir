// Names as PyTorch and ONNX write them: dots, colons, a leading digit, a
// clash once made C identifiers, a space and quotes.
func.func @main(%x: tensor<2xf32> {nn.name = "input.0"},
                %w: tensor<2xf32> {nn.name = "blocks.0.w", nn.param = {init = "ones"}},
                %v: tensor<2xf32> {nn.name = "blocks_0_w", nn.param = {init = "ones"}},
                %u: tensor<2xf32> {nn.name = "9lives \"q\"", nn.param = {init = "zeros"}})
    -> (tensor<2xf32> {nn.name = "onnx::Add_7"}) {
  %a = nn.mul %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %b = nn.add %a, %v : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %c = nn.add %b, %u : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %c : tensor<2xf32>
}
