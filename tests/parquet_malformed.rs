//! Malformed Parquet input stops a chunked pass with an error naming the file and the row group;
//! the output written until then is a complete file whose rows can be read back.
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use monitor::chunked::{ParquetChunks, ParquetError, Progress};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

/// 4 row groups of 1,000 rows: `id` 0..4000 and a text column.
fn write_file(path: &Path) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let props = WriterProperties::builder()
        .set_max_row_group_size(1_000)
        .set_dictionary_enabled(false)
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        schema.clone(),
        Some(props),
    )
    .unwrap();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..4_000)),
        Arc::new(StringArray::from_iter_values(
            (0..4_000).map(|i| format!("row {i}")),
        )),
    ];
    w.write(&RecordBatch::try_new(schema, cols).unwrap())
        .unwrap();
    w.close().unwrap();
}

fn ids(path: &Path) -> Vec<i64> {
    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .flat_map(|b| {
            b.unwrap()
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

fn identity(b: RecordBatch) -> Result<RecordBatch, String> {
    Ok(b)
}

#[test]
fn a_truncated_file_is_a_clear_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cut.parquet");
    write_file(&input);
    let len = std::fs::metadata(&input).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&input)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let err = ParquetChunks::open(&input)
        .progress(Progress::Off)
        .transform_to_parquet(dir.path().join("out.parquet"), identity)
        .unwrap_err();
    assert!(matches!(err, ParquetError::Footer { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("cut.parquet"), "{text}");
    assert!(text.contains("truncated"), "{text}");
}

#[test]
fn a_corrupt_row_group_is_named_and_the_rows_before_it_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.parquet");
    write_file(&input);
    // Overwrite the first page header of row group 2's first column with garbage.
    let meta = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&input).unwrap())
        .unwrap()
        .metadata()
        .clone();
    let at = meta.row_group(2).column(0).data_page_offset() as u64;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&input)
        .unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[0xFF; 24]).unwrap();
    drop(f);

    for out_name in ["out.parquet", "out.csv"] {
        let output = dir.path().join(out_name);
        let pass = ParquetChunks::open(&input)
            .batch_size(400)
            .progress(Progress::Off);
        let err = if out_name.ends_with(".csv") {
            pass.transform_to_csv(&output, identity)
        } else {
            pass.transform_to_parquet(&output, identity)
        }
        .unwrap_err();
        let text = err.to_string();
        match &err {
            ParquetError::Read {
                row_group,
                first_row,
                chunk,
                ..
            } => assert_eq!((*row_group, *first_row, *chunk), (2, 2_000, 6), "{text}"),
            other => panic!("{other:?}"),
        }
        assert!(text.contains("row group 2 of"), "{text}");
        assert!(text.contains("orders.parquet"), "{text}");
        // What was written before the failure is whole: row groups 0 and 1.
        let want: Vec<i64> = (0..2_000).collect();
        if out_name.ends_with(".csv") {
            let csv = std::fs::read_to_string(&output).unwrap();
            let got: Vec<i64> = csv
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!(got, want);
        } else {
            assert_eq!(ids(&output), want);
        }
    }
}

#[test]
fn a_schema_that_does_not_match_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.parquet");
    write_file(&input);

    // A projection naming a column the file does not have.
    let err = ParquetChunks::open(&input)
        .columns(["id", "amount"])
        .progress(Progress::Off)
        .for_each_batch(|c| Ok::<_, String>(c.batch.num_rows() as u64))
        .unwrap_err();
    assert!(matches!(err, ParquetError::Schema { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("orders.parquet")
            && text.contains("no column `amount` (the file has id, text)"),
        "{text}"
    );

    // A row group past the last.
    let err = ParquetChunks::open(&input)
        .row_groups([1, 7])
        .progress(Progress::Off)
        .for_each_batch(|c| Ok::<_, String>(c.batch.num_rows() as u64))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("row group 7 asked for, but the file has 4"),
        "{err}"
    );

    // A transform whose output changes schema on the second row group: the error names the
    // output, the chunk and the row group; the first row group's rows are in the output.
    let output = dir.path().join("out.parquet");
    let err = ParquetChunks::open(&input)
        .progress(Progress::Off)
        .transform_to_parquet(&output, |b: RecordBatch| {
            if b.column(0).as_primitive::<Int64Type>().value(0) < 1_000 {
                Ok(b)
            } else {
                b.project(&[0]).map_err(|e| e.to_string())
            }
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            ParquetError::Write {
                chunk: 1,
                row_group: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("out.parquet") && text.contains("differs from the first batch's"),
        "{text}"
    );
    assert_eq!(ids(&output), (0..1_000).collect::<Vec<_>>());

    // A transform's own error names the chunk and row group.
    let err = ParquetChunks::open(&input)
        .batch_size(500)
        .progress(Progress::Off)
        .for_each_batch(|c| {
            if c.row_group == 3 {
                Err("bad amount")
            } else {
                Ok(0)
            }
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the transform failed on chunk 6 (row group 3, rows from 3000): bad amount"
    );
}
