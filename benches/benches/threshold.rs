fn main() {} // placeholder: filled by the threshold work
