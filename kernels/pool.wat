;; MaxPool and AveragePool for one image, in one call instead of numpy's strided passes per window
;; row and column (pycore/cpu/nn.py max_pool and average_pool are the references).
;;
;;   pool(x, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, y, pb, pr, mode)
;;
;; x is [c, h, w] float32, unpadded; y is [c, oh, ow] float32, both row-major at byte addresses in
;; the imported memory (the arguments are im2col's, y in place of the columns, then the bottom and
;; right pads and the mode). y[ci, oy, ox] combines x[ci, oy * sh + i * dh - pt, ox * sw + j * dw - pl]
;; over the taps (i, j) that lie inside x. mode 0: their max (padding, and a ceil_mode window's
;; overhang, count as -inf, so a window with no tap inside gives -inf; f32.max and f32x4.max
;; propagate NaN, as np.maximum does). mode 1: their mean (count_include_pad=0). mode 2: their sum
;; divided by the number of taps inside the padded input (x with its borders pt, pl, pb, pr, not
;; the overhang: count_include_pad=1). The taps inside are
;; worked out per output row (rows) and per output (columns; no division where the window lies
;; inside the row), so the inner loop has no test. Where the windows of four outputs lie inside the
;; row and the stride is 1 or 2, the four are computed at once: per tap one v128 load (stride 1), or
;; two and the even lanes (stride 2; the fourth's window then reaches one float further, which must
;; lie inside the row too).
(module
  (import "env" "memory" (memory 0))
  (func $ceil_div (param $n i32) (param $d i32) (result i32)
    ;; ceil(n / d) for d > 0, and 0 for n <= 0
    (if (result i32) (i32.le_s (local.get $n) (i32.const 0))
      (then (i32.const 0))
      (else (i32.div_s (i32.sub (i32.add (local.get $n) (local.get $d)) (i32.const 1)) (local.get $d)))))
  (func $min (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))
  (func (export "pool") (param $x i32) (param $c i32) (param $h i32) (param $w i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
    (param $pt i32) (param $pl i32) (param $oh i32) (param $ow i32) (param $y i32)
    (param $pb i32) (param $pr i32) (param $mode i32)
    (local $rows i32) (local $count f32)
    (local $ci i32) (local $oy i32) (local $ox i32) (local $i i32) (local $j i32)
    (local $y0 i32) (local $x0 i32) (local $i_lo i32) (local $i_hi i32) (local $j_lo i32) (local $j_hi i32)
    (local $plane i32) (local $row i32) (local $at i32) (local $acc f32) (local $acc4 v128) (local $v4 v128)
    (local $plane_bytes i32) (local $row_step i32) (local $tap_step i32) (local $reach i32) (local $span4 i32)
    (local.set $plane_bytes (i32.shl (i32.mul (local.get $h) (local.get $w)) (i32.const 2)))
    (local.set $row_step (i32.shl (i32.mul (local.get $dh) (local.get $w)) (i32.const 2)))
    (local.set $tap_step (i32.shl (local.get $dw) (i32.const 2)))
    ;; a window's last column, from its first; four outputs' last read, from the first's first
    (local.set $reach (i32.mul (i32.sub (local.get $kw) (i32.const 1)) (local.get $dw)))
    (local.set $span4 (i32.add (local.get $reach) (i32.sub (i32.shl (local.get $sw) (i32.const 2)) (i32.const 1))))
    (local.set $plane (local.get $x))
    (local.set $ci (i32.const 0))
    (block $end_c (loop $channels
      (br_if $end_c (i32.ge_s (local.get $ci) (local.get $c)))
      (local.set $oy (i32.const 0))
      (block $end_y (loop $output_rows
        (br_if $end_y (i32.ge_s (local.get $oy) (local.get $oh)))
        ;; the tap rows i with y0 + i * dh inside [0, h)
        (local.set $y0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)))
        (local.set $i_lo (call $min (call $ceil_div (i32.sub (i32.const 0) (local.get $y0)) (local.get $dh))
          (local.get $kh)))
        (local.set $i_hi (call $min (call $ceil_div (i32.sub (local.get $h) (local.get $y0)) (local.get $dh))
          (local.get $kh)))
        ;; the tap rows a mean divides by: those inside x, or (mode 2) inside the padded input
        (local.set $rows (select
          (call $min (call $ceil_div (i32.sub (i32.add (local.get $h) (local.get $pb)) (local.get $y0))
            (local.get $dh)) (local.get $kh))
          (i32.sub (local.get $i_hi) (local.get $i_lo))
          (i32.eq (local.get $mode) (i32.const 2))))
        (local.set $ox (i32.const 0))
        (block $end_x (loop $outputs
          (br_if $end_x (i32.ge_s (local.get $ox) (local.get $ow)))
          (local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl)))
          (if (i32.and (i32.and (i32.ge_s (local.get $x0) (i32.const 0))
                (i32.lt_s (i32.add (local.get $x0) (local.get $span4)) (local.get $w)))
              (i32.and (i32.le_u (local.get $sw) (i32.const 2))
                (i32.le_s (i32.add (local.get $ox) (i32.const 4)) (local.get $ow))))
            (then
              (local.set $acc4 (f32x4.splat (select (f32.const 0) (f32.const -inf) (local.get $mode))))
              (local.set $row (i32.add (local.get $plane) (i32.shl (i32.add (i32.mul (i32.add (local.get $y0)
                (i32.mul (local.get $i_lo) (local.get $dh))) (local.get $w)) (local.get $x0)) (i32.const 2))))
              (local.set $i (local.get $i_lo))
              (block $end_i4 (loop $tap_rows4
                (br_if $end_i4 (i32.ge_s (local.get $i) (local.get $i_hi)))
                (local.set $at (local.get $row))
                (local.set $j (i32.const 0))
                (block $end_j4 (loop $taps4
                  (br_if $end_j4 (i32.ge_s (local.get $j) (local.get $kw)))
                  (local.set $v4 (if (result v128) (i32.eq (local.get $sw) (i32.const 1))
                    (then (v128.load (local.get $at)))
                    (else (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                      (v128.load (local.get $at)) (v128.load offset=16 (local.get $at))))))
                  (local.set $acc4 (if (result v128) (local.get $mode)
                    (then (f32x4.add (local.get $acc4) (local.get $v4)))
                    (else (f32x4.max (local.get $acc4) (local.get $v4)))))
                  (local.set $at (i32.add (local.get $at) (local.get $tap_step)))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $taps4)))
                (local.set $row (i32.add (local.get $row) (local.get $row_step)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $tap_rows4)))
              (if (local.get $mode) (then  ;; every column of these windows lies inside x
                (local.set $count (f32.convert_i32_s (i32.mul (local.get $rows) (local.get $kw))))
                (local.set $acc4 (f32x4.div (local.get $acc4) (f32x4.splat (local.get $count))))))
              (v128.store (local.get $y) (local.get $acc4))
              (local.set $y (i32.add (local.get $y) (i32.const 16)))
              (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
              (br $outputs)))
          (if (i32.and (i32.ge_s (local.get $x0) (i32.const 0))
                (i32.lt_s (i32.add (local.get $x0) (local.get $reach)) (local.get $w)))
            (then
              (local.set $j_lo (i32.const 0))
              (local.set $j_hi (local.get $kw)))
            (else
              (local.set $j_lo (call $min (call $ceil_div (i32.sub (i32.const 0) (local.get $x0)) (local.get $dw))
                (local.get $kw)))
              (local.set $j_hi (call $min (call $ceil_div (i32.sub (local.get $w) (local.get $x0)) (local.get $dw))
                (local.get $kw)))))
          (local.set $acc (select (f32.const 0) (f32.const -inf) (local.get $mode)))
          ;; the address of tap (i_lo, 0), which may lie left of the row: j starts at j_lo
          (local.set $row (i32.add (local.get $plane) (i32.shl (i32.add (i32.mul (i32.add (local.get $y0)
            (i32.mul (local.get $i_lo) (local.get $dh))) (local.get $w)) (local.get $x0)) (i32.const 2))))
          (local.set $i (local.get $i_lo))
          (block $end_i (loop $tap_rows
            (br_if $end_i (i32.ge_s (local.get $i) (local.get $i_hi)))
            (local.set $at (i32.add (local.get $row) (i32.mul (local.get $j_lo) (local.get $tap_step))))
            (local.set $j (local.get $j_lo))
            (block $end_j (loop $taps
              (br_if $end_j (i32.ge_s (local.get $j) (local.get $j_hi)))
              (local.set $acc (if (result f32) (local.get $mode)
                (then (f32.add (local.get $acc) (f32.load (local.get $at))))
                (else (f32.max (local.get $acc) (f32.load (local.get $at))))))
              (local.set $at (i32.add (local.get $at) (local.get $tap_step)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $taps)))
            (local.set $row (i32.add (local.get $row) (local.get $row_step)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $tap_rows)))
          (if (local.get $mode) (then
            ;; the columns a mean divides by: inside x, or (mode 2) inside the padded input
            (local.set $count (f32.convert_i32_s (i32.mul (local.get $rows) (select
              (call $min (call $ceil_div (i32.sub (i32.add (local.get $w) (local.get $pr)) (local.get $x0))
                (local.get $dw)) (local.get $kw))
              (i32.sub (local.get $j_hi) (local.get $j_lo))
              (i32.eq (local.get $mode) (i32.const 2))))))
            (local.set $acc (f32.div (local.get $acc) (local.get $count)))))
          (f32.store (local.get $y) (local.get $acc))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $outputs)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $output_rows)))
      (local.set $plane (i32.add (local.get $plane) (local.get $plane_bytes)))
      (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
      (br $channels)))))
