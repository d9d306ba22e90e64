fn main() {} // placeholder: filled by the delay-mode work
