// A gather inside a scan body is refused with its place: its run-time
// index check reports from the function's end, which a value made inside
// the loop cannot reach yet.
// RUN: kiln-opt %s --kiln-lower-nn-to-linalg -verify-diagnostics

func.func @gather_in_body(%table: tensor<10x4xf32>, %ids: tensor<5x2xi64>) -> tensor<5x2x4xf32> {
  %y = nn.scan over(%ids : tensor<5x2xi64>) consts(%table : tensor<10x4xf32>) -> (tensor<5x2x4xf32>) {
  ^bb0(%i: tensor<2xi64>, %t: tensor<10x4xf32>):
    // expected-error @+1 {{'nn.gather' inside nn.scan is not supported yet (its run-time index check cannot report from inside the loop): compute it before or after the scan}}
    %g = nn.gather %t[%i] : (tensor<10x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
    nn.yield %g : tensor<2x4xf32>
  }
  return %y : tensor<5x2x4xf32>
}
