;; im2col for one image: the columns a convolution's GEMM multiplies, in one call instead of a pad
;; and one numpy copy per kernel tap (pycore/cpu/nn.py im2col is the reference it must equal).
;;
;;   im2col(x, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cols)
;;
;; x is [c, h, w] float32, unpadded; cols is [c * kh * kw, oh * ow] float32, both row-major at byte
;; addresses in the imported memory. Row (ci * kh + i) * kw + j of cols holds, for every output
;; (oy, ox), x[ci, oy * sh + i * dh - pt, ox * sw + j * dw - pl], or 0 where that lies in the padding.
;; Per row of outputs: the input columns in range are one run (copied with memory.copy at stride 1),
;; the outputs left and right of it are zeros (memory.fill). Nothing outside x and cols is touched.
(module
  (import "env" "memory" (memory 0))
  (func $ceil_div (param $n i32) (param $d i32) (result i32)
    ;; ceil(n / d) for d > 0, and 0 for n <= 0 (callers clamp to [0, ow] anyway)
    (if (result i32) (i32.le_s (local.get $n) (i32.const 0))
      (then (i32.const 0))
      (else (i32.div_s (i32.sub (i32.add (local.get $n) (local.get $d)) (i32.const 1)) (local.get $d)))))
  (func $min (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))
  (func (export "im2col") (param $x i32) (param $c i32) (param $h i32) (param $w i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
    (param $pt i32) (param $pl i32) (param $oh i32) (param $ow i32) (param $cols i32)
    (local $ci i32) (local $i i32) (local $j i32) (local $oy i32) (local $iy i32)
    (local $lo i32) (local $hi i32) (local $plane i32) (local $src i32) (local $dst i32) (local $ox i32)
    (local $row_bytes i32) (local $plane_bytes i32)
    (local.set $row_bytes (i32.shl (local.get $ow) (i32.const 2)))
    (local.set $plane_bytes (i32.shl (i32.mul (local.get $h) (local.get $w)) (i32.const 2)))
    (local.set $plane (local.get $x))
    (local.set $ci (i32.const 0))
    (block $end_c (loop $channels
      (br_if $end_c (i32.ge_s (local.get $ci) (local.get $c)))
      (local.set $i (i32.const 0))
      (block $end_i (loop $tap_rows
        (br_if $end_i (i32.ge_s (local.get $i) (local.get $kh)))
        (local.set $j (i32.const 0))
        (block $end_j (loop $tap_columns
          (br_if $end_j (i32.ge_s (local.get $j) (local.get $kw)))
          ;; the outputs ox in [lo, hi) read input column ox * sw + j * dw - pl inside [0, w)
          (local.set $lo (call $min (call $ceil_div
            (i32.sub (local.get $pl) (i32.mul (local.get $j) (local.get $dw))) (local.get $sw)) (local.get $ow)))
          (local.set $hi (call $min (call $ceil_div
            (i32.sub (i32.add (local.get $w) (local.get $pl)) (i32.mul (local.get $j) (local.get $dw)))
            (local.get $sw)) (local.get $ow)))
          (if (i32.lt_s (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
          (local.set $oy (i32.const 0))
          (block $end_y (loop $outputs
            (br_if $end_y (i32.ge_s (local.get $oy) (local.get $oh)))
            (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $sh))
              (i32.mul (local.get $i) (local.get $dh))) (local.get $pt)))
            (if (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $h)))
              (then (memory.fill (local.get $cols) (i32.const 0) (local.get $row_bytes)))
              (else
                (memory.fill (local.get $cols) (i32.const 0) (i32.shl (local.get $lo) (i32.const 2)))
                (if (i32.gt_s (local.get $hi) (local.get $lo)) (then  ;; else src may lie past x
                  (local.set $src (i32.add (local.get $plane) (i32.shl (i32.sub (i32.add (i32.add
                    (i32.mul (local.get $iy) (local.get $w)) (i32.mul (local.get $lo) (local.get $sw)))
                    (i32.mul (local.get $j) (local.get $dw))) (local.get $pl)) (i32.const 2))))
                  (local.set $dst (i32.add (local.get $cols) (i32.shl (local.get $lo) (i32.const 2))))
                  (if (i32.eq (local.get $sw) (i32.const 1))
                    (then (memory.copy (local.get $dst) (local.get $src)
                      (i32.shl (i32.sub (local.get $hi) (local.get $lo)) (i32.const 2))))
                    (else
                      (local.set $ox (local.get $lo))
                      (block $end_x (loop $strided
                        (br_if $end_x (i32.ge_s (local.get $ox) (local.get $hi)))
                        (f32.store (local.get $dst) (f32.load (local.get $src)))
                        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                        (local.set $src (i32.add (local.get $src) (i32.shl (local.get $sw) (i32.const 2))))
                        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                        (br $strided)))))))
                (memory.fill (i32.add (local.get $cols) (i32.shl (local.get $hi) (i32.const 2))) (i32.const 0)
                  (i32.shl (i32.sub (local.get $ow) (local.get $hi)) (i32.const 2)))))
            (local.set $cols (i32.add (local.get $cols) (local.get $row_bytes)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $outputs)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $tap_columns)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tap_rows)))
      (local.set $plane (i32.add (local.get $plane) (local.get $plane_bytes)))
      (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
      (br $channels)))))
