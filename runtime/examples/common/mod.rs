//! What the runtime's benchmark examples share: reading a numeric CSV table into a [`Matrix`].

use mbt_runtime::features::Matrix;

/// The first `rows` rows of a CSV of numeric columns (empty or unparsable cells are missing),
/// split into the features and the `label` column.
pub fn read_numeric_csv(
    path: &str,
    label: &str,
    rows: usize,
) -> anyhow::Result<(Matrix, Vec<f64>)> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let target = header
        .iter()
        .position(|name| *name == label)
        .ok_or_else(|| anyhow::anyhow!("no column {label}"))?;
    let width = header.len() - 1;
    let mut columns = vec![Vec::new(); width];
    let mut y = Vec::new();
    for line in lines.take(rows) {
        let mut feature = 0;
        for (index, cell) in line.split(',').enumerate() {
            let value: f64 = cell.parse().unwrap_or(f64::NAN);
            if index == target {
                y.push(value);
            } else {
                columns[feature].push(value);
                feature += 1;
            }
        }
    }
    let rows = y.len();
    Ok((
        Matrix {
            values: columns.concat(),
            rows,
            columns: width,
        },
        y,
    ))
}
