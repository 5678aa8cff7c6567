//! A small safe layer over LightGBM's C API (through `lightgbm3-sys`) for the
//! round-by-round training loop the lab's callbacks need.
//!
//! `lightgbm3::Booster` trains in one call and ignores a categorical feature
//! given as a booster parameter, so training goes through the C API here;
//! loading and predicting with a saved model uses the safe crate.

use std::ffi::{c_char, c_void};

use lightgbm3_sys as sys;

use crate::error::{Error, Result};
use crate::model_params::lightgbm::{check, cstring};

/// Rows of a dataset as LightGBM should see them, handed over a block at a
/// time so that no row-major copy of a whole split has to exist.
pub trait RowSource {
    /// Number of rows.
    fn rows(&self) -> usize;
    /// Number of columns (features).
    fn cols(&self) -> usize;
    /// Feature `col` of row `row` (for the bin sample).
    fn value(&self, row: usize, col: usize) -> f64;
    /// Writes rows `start..start + out.len() / cols` into `out`, row-major.
    fn fill(&self, start: usize, out: &mut [f64]);
}

/// Rows pushed to LightGBM per call: large enough for its threads, small
/// enough (a few MiB) to stay in cache.
const PUSH_BLOCK: usize = 1 << 15;

/// LightGBM's `kZeroThreshold` (a float literal widened to double).
const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;

/// A LightGBM dataset.
pub struct Dataset {
    handle: *mut c_void,
    rows: usize,
}

impl Dataset {
    /// Builds a dataset; `reference` makes it share the bin mappers of a
    /// training set, as `lgb.train` does for its validation sets.
    ///
    /// The result is the dataset `LGBM_DatasetCreateFromMat` (what Python's
    /// `lgb.Dataset` calls for a DataFrame) builds from the same rows: the
    /// same bin sample (LightGBM's own sample indices, the same zero and NaN
    /// rule), then every row pushed through the same per-row path. Only the
    /// hand-over differs: blocks of rows instead of one matrix.
    pub fn from_source(
        src: &dyn RowSource,
        params: &str,
        reference: Option<&Dataset>,
    ) -> Result<Self> {
        let (rows, cols) = (src.rows(), src.cols());
        let nrow = i32::try_from(rows)
            .map_err(|_| Error::BadArgument(format!("{rows} rows: LightGBM takes at most 2^31")))?;
        let ncol = i32::try_from(cols)
            .map_err(|_| Error::BadArgument(format!("{cols} features: too many for LightGBM")))?;
        let cparams = cstring(params)?;
        let mut handle = std::ptr::null_mut();
        match reference {
            None => {
                let mut count = 0;
                // SAFETY: valid C string and out pointer.
                check(unsafe { sys::LGBM_GetSampleCount(nrow, cparams.as_ptr(), &mut count) })?;
                let mut sample = vec![0i32; count.max(0) as usize];
                let mut len = 0;
                // SAFETY: `sample` has room for the count LightGBM asked for.
                check(unsafe {
                    sys::LGBM_SampleIndices(
                        nrow,
                        cparams.as_ptr(),
                        sample.as_mut_ptr().cast(),
                        &mut len,
                    )
                })?;
                sample.truncate(len.max(0) as usize);
                let mut values: Vec<Vec<f64>> = vec![Vec::new(); cols];
                let mut indices: Vec<Vec<i32>> = vec![Vec::new(); cols];
                for (i, &row) in sample.iter().enumerate() {
                    for k in 0..cols {
                        let v = src.value(row as usize, k);
                        if v.abs() > ZERO_THRESHOLD || v.is_nan() {
                            values[k].push(v);
                            indices[k].push(i as i32);
                        }
                    }
                }
                let counts: Vec<i32> = values.iter().map(|v| v.len() as i32).collect();
                let mut value_ptrs: Vec<*mut f64> =
                    values.iter_mut().map(|v| v.as_mut_ptr()).collect();
                let mut index_ptrs: Vec<*mut i32> =
                    indices.iter_mut().map(|v| v.as_mut_ptr()).collect();
                // SAFETY: one value and one index array per column, `counts`
                // long each, alive for the call; LightGBM copies what it keeps.
                check(unsafe {
                    sys::LGBM_DatasetCreateFromSampledColumn(
                        value_ptrs.as_mut_ptr(),
                        index_ptrs.as_mut_ptr(),
                        ncol,
                        counts.as_ptr(),
                        len,
                        nrow,
                        i64::from(nrow),
                        cparams.as_ptr(),
                        &mut handle,
                    )
                })?;
            }
            Some(r) => {
                // SAFETY: r.handle is a live dataset; out pointer is valid.
                check(unsafe {
                    sys::LGBM_DatasetCreateByReference(r.handle, i64::from(nrow), &mut handle)
                })?;
            }
        }
        // From here on Drop frees the handle, also on a failed push.
        let dataset = Dataset { handle, rows };
        let mut block = vec![0.0; PUSH_BLOCK.min(rows) * cols];
        let mut start = 0;
        while start < rows {
            let n = PUSH_BLOCK.min(rows - start);
            let part = &mut block[..n * cols];
            src.fill(start, part);
            // SAFETY: `part` holds n rows of `cols` f64 values; LightGBM bins
            // them and keeps no pointer. The last block finishes the dataset.
            check(unsafe {
                sys::LGBM_DatasetPushRows(
                    dataset.handle,
                    part.as_ptr().cast(),
                    sys::C_API_DTYPE_FLOAT64 as i32,
                    n as i32,
                    ncol,
                    start as i32,
                )
            })?;
            start += n;
        }
        Ok(dataset)
    }

    /// Sets the label (LightGBM stores labels as `f32`).
    pub fn set_label(&mut self, label: &[f32]) -> Result<()> {
        if label.len() != self.rows {
            return Err(Error::Internal(format!(
                "{} labels for {} rows",
                label.len(),
                self.rows
            )));
        }
        let field = cstring("label")?;
        // SAFETY: label has one f32 per row.
        check(unsafe {
            sys::LGBM_DatasetSetField(
                self.handle,
                field.as_ptr(),
                label.as_ptr().cast(),
                label.len() as i32,
                sys::C_API_DTYPE_FLOAT32 as i32,
            )
        })
    }

    /// Names the features (saved in the model text).
    pub fn set_feature_names(&mut self, names: &[&str]) -> Result<()> {
        let owned = names
            .iter()
            .map(|n| cstring(n))
            .collect::<Result<Vec<_>>>()?;
        let mut ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        // SAFETY: ptrs point into `owned`, alive for the call.
        check(unsafe {
            sys::LGBM_DatasetSetFeatureNames(self.handle, ptrs.as_mut_ptr(), ptrs.len() as i32)
        })
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: handle came from LightGBM's dataset constructors and is freed once.
        unsafe {
            sys::LGBM_DatasetFree(self.handle);
        }
    }
}

/// What importance to report.
#[derive(Debug, Clone, Copy)]
pub enum Importance {
    /// Times a feature is used in a split.
    Split,
    /// Total gain of its splits.
    Gain,
}

/// A booster being trained on one training set and one validation set.
///
/// The datasets must outlive it, which the borrow enforces.
pub struct Trainer<'a> {
    handle: *mut c_void,
    valid_rows: usize,
    _data: std::marker::PhantomData<&'a Dataset>,
}

impl<'a> Trainer<'a> {
    /// Creates the booster and attaches the validation set (data index 1).
    pub fn new(train: &'a Dataset, valid: &'a Dataset, params: &str) -> Result<Self> {
        let params = cstring(params)?;
        let mut handle = std::ptr::null_mut();
        // SAFETY: train.handle is a live dataset; out pointer is valid.
        check(unsafe { sys::LGBM_BoosterCreate(train.handle, params.as_ptr(), &mut handle) })?;
        let trainer = Trainer {
            handle,
            valid_rows: valid.rows,
            _data: std::marker::PhantomData,
        };
        // SAFETY: both handles are live.
        check(unsafe { sys::LGBM_BoosterAddValidData(trainer.handle, valid.handle) })?;
        Ok(trainer)
    }

    /// One boosting round. Like `lgb.train`, the caller goes on even when
    /// LightGBM reports it can split no further.
    pub fn update_one_iter(&mut self) -> Result<bool> {
        let mut finished = 0;
        // SAFETY: live handle, valid out pointer.
        check(unsafe { sys::LGBM_BoosterUpdateOneIter(self.handle, &mut finished) })?;
        Ok(finished != 0)
    }

    /// The built-in metrics on the validation set, in the params' order.
    pub fn eval_valid(&self) -> Result<Vec<f64>> {
        let mut count = 0;
        // SAFETY: live handle, valid out pointer.
        check(unsafe { sys::LGBM_BoosterGetEvalCounts(self.handle, &mut count) })?;
        let mut out = vec![0.0; count.max(0) as usize];
        let mut len = 0;
        // SAFETY: out has room for `count` results.
        check(unsafe { sys::LGBM_BoosterGetEval(self.handle, 1, &mut len, out.as_mut_ptr()) })?;
        out.truncate(len.max(0) as usize);
        Ok(out)
    }

    /// The current raw scores of the validation rows (no re-prediction: the
    /// booster keeps them up to date as it trains). The buffer is sized by
    /// LightGBM's own count (rows x classes), never by the caller.
    pub fn valid_scores(&self, out: &mut Vec<f64>) -> Result<()> {
        let mut needed = 0i64;
        // SAFETY: live handle, valid out pointer.
        check(unsafe { sys::LGBM_BoosterGetNumPredict(self.handle, 1, &mut needed) })?;
        let needed = usize::try_from(needed)
            .map_err(|_| Error::LightGbm(format!("LightGBM counts {needed} predictions")))?;
        out.clear();
        out.resize(needed, 0.0);
        let mut len = 0i64;
        // SAFETY: out has the `needed` slots LightGBM says it writes.
        check(unsafe { sys::LGBM_BoosterGetPredict(self.handle, 1, &mut len, out.as_mut_ptr()) })?;
        out.truncate(len.clamp(0, needed as i64) as usize);
        if out.len() != self.valid_rows {
            return Err(Error::LightGbm(format!(
                "{} validation scores for {} rows (a multi-class objective?)",
                out.len(),
                self.valid_rows
            )));
        }
        Ok(())
    }

    /// The model in LightGBM's text format, first `num_iteration` rounds
    /// (0 = all).
    pub fn model_string(&self, num_iteration: i32) -> Result<String> {
        let mut len = 0i64;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            // SAFETY: buf has buf.len() bytes; LightGBM reports the size it needs.
            check(unsafe {
                sys::LGBM_BoosterSaveModelToString(
                    self.handle,
                    0,
                    num_iteration,
                    sys::C_API_FEATURE_IMPORTANCE_SPLIT as i32,
                    buf.len() as i64,
                    &mut len,
                    buf.as_mut_ptr().cast(),
                )
            })?;
            if (len as usize) <= buf.len() {
                break;
            }
            buf.resize(len as usize, 0);
        }
        buf.truncate((len as usize).saturating_sub(1));
        String::from_utf8(buf).map_err(|_| Error::LightGbm("model text is not UTF-8".into()))
    }

    /// Feature importance over the first `num_iteration` rounds.
    pub fn feature_importance(
        &self,
        num_iteration: i32,
        kind: Importance,
        num_features: usize,
    ) -> Result<Vec<f64>> {
        let kind = match kind {
            Importance::Split => sys::C_API_FEATURE_IMPORTANCE_SPLIT,
            Importance::Gain => sys::C_API_FEATURE_IMPORTANCE_GAIN,
        };
        let mut has = 0;
        // SAFETY: live handle, valid out pointer.
        check(unsafe { sys::LGBM_BoosterGetNumFeature(self.handle, &mut has) })?;
        let has = usize::try_from(has)
            .map_err(|_| Error::LightGbm(format!("LightGBM counts {has} features")))?;
        if has != num_features {
            return Err(Error::LightGbm(format!(
                "feature importance asked for {num_features} features; the model has {has}"
            )));
        }
        let mut out = vec![0.0; has];
        // SAFETY: out has one slot per feature of the model, LightGBM's own
        // count, which is what it writes.
        check(unsafe {
            sys::LGBM_BoosterFeatureImportance(
                self.handle,
                num_iteration,
                kind as i32,
                out.as_mut_ptr(),
            )
        })?;
        Ok(out)
    }
}

impl Drop for Trainer<'_> {
    fn drop(&mut self) {
        // SAFETY: handle came from LGBM_BoosterCreate and is freed once.
        unsafe {
            sys::LGBM_BoosterFree(self.handle);
        }
    }
}

#[cfg(test)]
mod buffer_tests {
    use super::*;

    /// `rows` rows of `cols` features, a line with noise.
    struct Rows {
        rows: usize,
        cols: usize,
    }

    impl RowSource for Rows {
        fn rows(&self) -> usize {
            self.rows
        }
        fn cols(&self) -> usize {
            self.cols
        }
        fn value(&self, row: usize, col: usize) -> f64 {
            ((row * 31 + col * 17) % 97) as f64
        }
        fn fill(&self, start: usize, out: &mut [f64]) {
            for (i, v) in out.iter_mut().enumerate() {
                *v = self.value(start + i / self.cols, i % self.cols);
            }
        }
    }

    fn dataset(rows: usize, cols: usize, reference: Option<&Dataset>, classes: usize) -> Dataset {
        let params = "verbosity=-1 min_data_in_bin=1 min_data_in_leaf=1";
        let mut d = Dataset::from_source(&Rows { rows, cols }, params, reference).expect("dataset");
        let label: Vec<f32> = (0..rows).map(|r| (r % classes) as f32).collect();
        d.set_label(&label).expect("label");
        d
    }

    #[test]
    fn a_wrong_feature_count_is_an_error_not_an_overrun() {
        let train = dataset(200, 3, None, 2);
        let valid = dataset(50, 3, Some(&train), 2);
        let mut t = Trainer::new(
            &train,
            &valid,
            "objective=regression verbosity=-1 num_threads=1",
        )
        .expect("trainer");
        t.update_one_iter().expect("round");
        assert_eq!(
            t.feature_importance(0, Importance::Gain, 3)
                .expect("ok")
                .len(),
            3
        );
        for wrong in [0, 2, 4, 1000] {
            let e = t
                .feature_importance(0, Importance::Split, wrong)
                .expect_err("wrong count");
            assert!(e.to_string().contains("the model has 3"), "{e}");
        }
        let mut scores = vec![0.0; 3];
        t.valid_scores(&mut scores).expect("scores");
        assert_eq!(scores.len(), 50);
    }

    #[test]
    fn a_multi_class_booster_writes_rows_times_classes_into_a_buffer_sized_for_it() {
        let train = dataset(200, 3, None, 3);
        let valid = dataset(50, 3, Some(&train), 3);
        let params = "objective=multiclass num_class=3 verbosity=-1 num_threads=1";
        let mut t = Trainer::new(&train, &valid, params).expect("trainer");
        t.update_one_iter().expect("round");
        // The buffer LightGBM writes 150 scores into is its own size; the
        // caller gets an error, not a heap overrun.
        let mut scores = Vec::new();
        let e = t.valid_scores(&mut scores).expect_err("three classes");
        assert!(
            e.to_string().contains("150 validation scores for 50 rows"),
            "{e}"
        );
    }
}
