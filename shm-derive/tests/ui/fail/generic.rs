use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct ByType<T> {
    pub value: T,
}

#[derive(SharedState)]
#[repr(C)]
pub struct ByConst<const N: usize> {
    pub values: [u32; N],
}

#[derive(SharedState)]
#[repr(C)]
pub struct ByLifetime<'a> {
    pub name: &'a str,
}

#[derive(SharedState)]
#[repr(C)]
pub struct ByWhereClause
where
    u32: Copy,
{
    pub value: u32,
}

fn main() {}
