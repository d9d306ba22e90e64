fn main() {} // placeholder: filled by the timelock work
