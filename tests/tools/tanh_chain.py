#!/usr/bin/env python3
"""Prints a kiln model that is a chain of N nn.tanh ops (compile-time scale).

  tanh_chain.py N > chain.mlir

Used by tests/scale/long_chain.sh (the hang guard) and
bench/compile_latency.sh (compile time against the op count).
"""
import sys

n = int(sys.argv[1])
print('func.func @main(%x: tensor<64xf32> {nn.name = "x"}) -> (tensor<64xf32> {nn.name = "y"}) {')
prev = '%x'
for i in range(n):
    print(f'  %t{i} = nn.tanh {prev} : tensor<64xf32>')
    prev = f'%t{i}'
print(f'  return {prev} : tensor<64xf32>\n}}')
