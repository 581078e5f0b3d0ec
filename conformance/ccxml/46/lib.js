var libValue = 42;
